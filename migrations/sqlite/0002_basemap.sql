-- The room's own cartography (`vigie basemap import`): configuration beside the log, never events.
-- `geojson` is the prepared FeatureCollection (validated, simplified, one `label` per feature).
CREATE TABLE basemap_layers (
    name        TEXT    PRIMARY KEY,
    role        TEXT    NOT NULL CHECK (role IN ('base', 'overlay')),
    position    INTEGER NOT NULL,
    features    INTEGER NOT NULL,
    west        REAL    NOT NULL,
    south       REAL    NOT NULL,
    east        REAL    NOT NULL,
    north       REAL    NOT NULL,
    label_property TEXT,
    geojson     TEXT    NOT NULL,
    imported_at_ms INTEGER NOT NULL
);
