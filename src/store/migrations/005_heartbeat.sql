-- One row the readiness check (/readyz) rewrites: proves the database takes a durable write.
CREATE TABLE heartbeat (
  id  INTEGER PRIMARY KEY CHECK (id = 1),
  at  INTEGER NOT NULL                    -- unix milliseconds of the last successful probe
) STRICT;
