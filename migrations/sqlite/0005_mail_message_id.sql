-- A globally unique Message-ID per mail, kept with it, so that a mail sent again after a crash
-- between "sent" and "marked" carries the same id and the receiving side can spot it.
ALTER TABLE mail_outbox ADD COLUMN message_id TEXT;
UPDATE mail_outbox SET message_id = lower(hex(randomblob(16))) WHERE message_id IS NULL;
