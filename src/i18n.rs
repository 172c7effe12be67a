//! The two languages of the portal and how a browser's preference picks one.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locale {
    #[default]
    Fr,
    En,
}

impl Locale {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fr => "fr",
            Self::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fr" => Some(Self::Fr),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// The other language, for the switch link.
    pub fn other(self) -> Self {
        match self {
            Self::Fr => Self::En,
            Self::En => Self::Fr,
        }
    }

    pub fn t(self, key: &str) -> String {
        rust_i18n::t!(key, locale = self.as_str()).into_owned()
    }

    /// A text with `%{name}` placeholders filled in.
    pub fn t_with(self, key: &str, params: &[(&str, String)]) -> String {
        params.iter().fold(self.t(key), |text, (name, value)| text.replace(&format!("%{{{name}}}"), value))
    }
}

/// The language the browser prefers among ours, by q-value; French when it names neither.
pub fn from_accept_language(header: &str) -> Locale {
    let mut best: Option<(f32, Locale)> = None;
    for item in header.split(',') {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let q =
            parts.find_map(|p| p.trim().strip_prefix("q=")).and_then(|q| q.trim().parse::<f32>().ok()).unwrap_or(1.0);
        let primary = tag.split('-').next().unwrap_or("");
        if let Some(locale) = Locale::parse(primary)
            && q > 0.0
            && best.is_none_or(|(bq, _)| q > bq)
        {
            best = Some((q, locale));
        }
    }
    best.map_or(Locale::Fr, |(_, l)| l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled() {
        let text = Locale::En.t_with("password.too_short", &[("min", "12".into())]);
        assert!(text.contains("12") && !text.contains("%{"), "{text}");
    }

    #[test]
    fn every_key_has_both_languages() {
        for file in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/locales")).unwrap() {
            let path = file.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let mut key = None;
            let mut langs = Vec::new();
            let check = |key: &Option<String>, langs: &mut Vec<String>| {
                if let Some(k) = key {
                    assert_eq!(langs.as_slice(), ["fr", "en"], "{}: {k}", path.display());
                }
                langs.clear();
            };
            for line in
                text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#') && !l.starts_with("_version"))
            {
                if !line.starts_with(' ') {
                    check(&key, &mut langs);
                    key = Some(line.trim_end_matches(':').to_string());
                } else if let Some((lang, _)) = line.trim().split_once(':') {
                    langs.push(lang.to_string());
                }
            }
            check(&key, &mut langs);
        }
    }

    #[test]
    fn browser_preference_picks_the_highest_q_among_ours() {
        assert_eq!(from_accept_language("en-US,en;q=0.9"), Locale::En);
        assert_eq!(from_accept_language("de-DE,en;q=0.5,fr;q=0.8"), Locale::Fr);
        assert_eq!(from_accept_language("fr-FR,fr;q=0.9,en;q=0.8"), Locale::Fr);
        assert_eq!(from_accept_language("de,it"), Locale::Fr);
        assert_eq!(from_accept_language("en;q=0"), Locale::Fr);
        assert_eq!(from_accept_language(""), Locale::Fr);
        assert_eq!(from_accept_language("*;q=0.1, EN-gb"), Locale::En);
    }
}
