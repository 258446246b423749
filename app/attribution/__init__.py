"""Analytics: the query layer, funnels, attribution models and channel ranking."""
