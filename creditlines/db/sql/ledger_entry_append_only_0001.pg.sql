
            CREATE FUNCTION ledger_entry_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'ledger_entry is append-only' USING ERRCODE = 'restrict_violation';
            END;
            $$ LANGUAGE plpgsql
            