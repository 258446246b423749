"""Chinese regions (GB/T 2260 codes) and carriers: reference data and lookups for geo fields.

`regions` maps the names a geo database returns to province/city codes and parses region
references in targeting rules; `isp` looks up the carrier of an address in ip2region data,
which `isp_db` fetches at set-up (`python -m app.geo fetch-isp --dest DIR`).
"""
