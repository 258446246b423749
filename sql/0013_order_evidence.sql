-- What an order row's evidence is. 'postback': the advertiser's server confirmed it with a
-- signed postback. 'browser': a pixel, beacon or snippet on a page reported it, which anyone
-- can send. '' for other events, and for orders stored before this column (their evidence
-- was not kept). What pays on signed orders only reads `order_source = 'postback'`.
ALTER TABLE events ADD COLUMN IF NOT EXISTS order_source LowCardinality(String) AFTER order_status;
