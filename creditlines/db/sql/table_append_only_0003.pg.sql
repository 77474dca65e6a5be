
            CREATE FUNCTION {table}_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '{table} is append-only' USING ERRCODE = 'restrict_violation';
            END;
            $$ LANGUAGE plpgsql
            