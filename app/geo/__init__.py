"""Geo, region and device lookups: reference data and the pure lookups on it, shared by the
loader's enrichment steps (`app.ingest.enrich`) and the edge's targeting.

`geolite` looks an address up in a GeoLite2/GeoIP2 City database, which `geolite_db` fetches;
`regions` maps the names a geo database returns to GB/T 2260 province/city codes and parses
region references in targeting rules; `isp` looks up the carrier of an address in ip2region
data, which `isp_db` fetches; `device` reads a user agent. `adtrack geoip fetch` fetches
every database at set-up.
"""
