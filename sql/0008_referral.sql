-- Referral (viral) tracking: the sharer named by a share link's `adt_ref` parameter, stored on
-- the landing visit it brought. The sharer id is the sharer's landing-site visitor id, so the
-- invite tree is read by matching `referrer_id` to `visitor_id`; the skip index serves a
-- lookup of one sharer's invitees.
ALTER TABLE events
    ADD COLUMN IF NOT EXISTS referrer_id String DEFAULT '';

ALTER TABLE events
    ADD INDEX IF NOT EXISTS idx_referrer referrer_id TYPE bloom_filter(0.01) GRANULARITY 4;
