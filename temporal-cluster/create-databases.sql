-- The Temporal server's two databases, made by the PostgreSQL image on its first start
-- (temporal-dev.yml); `npm run cluster` makes them beside the order center's database instead.
CREATE DATABASE temporal;
CREATE DATABASE temporal_visibility;
