//! The domain's enums as the text columns that hold them, written and read as the same words
//! ('staff', 'active', 'helpdesk'…) on both databases; a word we do not know is an error of ours.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

use crate::domain::import_plan::DisabledBy;
use crate::domain::person::{Category, Status};

/// `Type`, `Encode` and `Decode` for `$ty` through its text: `as_str` writes it, `$parse` reads it.
macro_rules! text_column {
    ($ty:ty, $parse:expr) => {
        impl<DB: Database> Type<DB> for $ty
        where
            str: Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <str as Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <str as Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: Database> Encode<'q, DB> for $ty
        where
            &'q str: Encode<'q, DB>,
        {
            fn encode_by_ref(&self, buf: &mut DB::ArgumentBuffer<'q>) -> Result<IsNull, BoxDynError> {
                let text: &'q str = self.as_str();
                text.encode_by_ref(buf)
            }
        }

        impl<'r, DB: Database> Decode<'r, DB> for $ty
        where
            &'r str: Decode<'r, DB>,
        {
            fn decode(value: DB::ValueRef<'r>) -> Result<Self, BoxDynError> {
                let text = <&'r str as Decode<'r, DB>>::decode(value)?;
                let parse: fn(&str) -> Option<$ty> = $parse;
                parse(text).ok_or_else(|| format!("unknown {} {text:?}", stringify!($ty)).into())
            }
        }
    };
}

text_column!(Category, |s| s.parse().ok());
text_column!(Status, Status::from_db);
text_column!(DisabledBy, DisabledBy::from_db);
