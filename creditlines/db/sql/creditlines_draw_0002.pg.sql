
CREATE FUNCTION creditlines_draw(
    p_distributor text, p_reseller text, p_reference text, p_amount bigint, p_vendor text,
    p_actor text, p_now timestamp, p_day date
) RETURNS jsonb LANGUAGE plpgsql
-- Every statement here is a lookup by key. PL/pgSQL keeps a generic plan per connection; made
-- while a table is still small (a new installation, a fresh benchmark) it would be a sequential
-- scan for the life of the connection, growing with the table (measured: half the throughput).
SET enable_seqscan = off
AS $$
DECLARE
    v_status text;
    v_seq bigint;
    v_existing drawing%ROWTYPE;
    v_available bigint;  -- NULL until the first usable line is read
    v_remaining bigint := p_amount;
    v_take bigint;
    v_position int := 0;
    v_allocations jsonb := '[]'::jsonb;
    v_line record;
BEGIN
    SELECT status, ledger_seq INTO v_status, v_seq FROM reseller
     WHERE distributor_id = p_distributor AND id = p_reseller FOR UPDATE;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('outcome', 'not_found');
    END IF;

    SELECT * INTO v_existing FROM drawing
     WHERE distributor_id = p_distributor AND reseller_id = p_reseller AND reference = p_reference;
    IF FOUND THEN
        IF v_existing.amount_minor <> p_amount OR v_existing.vendor_id IS DISTINCT FROM p_vendor THEN
            RETURN jsonb_build_object('outcome', 'idempotency_conflict');
        END IF;
        RETURN jsonb_build_object(
            'outcome', 'replayed', 'amount', v_existing.amount_minor, 'outstanding', v_existing.outstanding_minor,
            'status', v_existing.status, 'vendor_id', v_existing.vendor_id, 'created_at', v_existing.created_at,
            'allocations', (SELECT coalesce(jsonb_agg(jsonb_build_array(line_id, funder, amount_minor, outstanding_minor)
                                                      ORDER BY position), '[]'::jsonb)
                              FROM allocation WHERE distributor_id = p_distributor AND reseller_id = p_reseller
                                                AND drawing_reference = p_reference));
    END IF;
    IF v_status = 'terminated' THEN
        RETURN jsonb_build_object('outcome', 'reseller_terminated');
    ELSIF v_status = 'on_hold' THEN
        RETURN jsonb_build_object('outcome', 'account_on_hold');
    END IF;

    -- One pass over the reseller's lines in waterfall order: the usable ones, each with what it
    -- has available (drawn on lines already past their end under transfer_to_base weighs on
    -- the base line), the first row carrying the total.
    FOR v_line IN
        SELECT id, funder, available, sum(available) OVER () AS total FROM (
            SELECT id, funder, grant_seq, kind, valid_until, usable,
                   limit_minor - drawn_minor - CASE WHEN kind <> 'base' THEN 0 ELSE sum(
                       CASE WHEN status = 'active' AND valid_until IS NOT NULL AND p_day > valid_until
                                 AND on_expiry = 'transfer_to_base' THEN drawn_minor ELSE 0 END) OVER () END
                   AS available
              FROM (SELECT *, status = 'active' AND valid_from <= p_day
                                  AND (valid_until IS NULL OR p_day <= valid_until)
                                  AND (usable_for = 'any' OR (p_vendor IS NOT NULL AND vendor_id = p_vendor)) AS usable
                      FROM line WHERE distributor_id = p_distributor AND reseller_id = p_reseller) lines) scored
         WHERE usable
         ORDER BY kind <> 'base',
                  CASE WHEN kind = 'base' THEN '-infinity'::date ELSE coalesce(valid_until, 'infinity'::date) END,
                  grant_seq
    LOOP
        IF v_available IS NULL THEN
            v_available := greatest(0, v_line.total);
            IF p_amount > v_available THEN
                EXIT;
            END IF;
            INSERT INTO drawing (distributor_id, reseller_id, reference, amount_minor, outstanding_minor, vendor_id,
                                 status, created_at, created_by)
            VALUES (p_distributor, p_reseller, p_reference, p_amount, p_amount, p_vendor, 'open', p_now, p_actor);
            v_seq := v_seq + 1;
            INSERT INTO ledger_entry (distributor_id, reseller_id, seq, at, actor, kind, drawing_reference,
                                      amount_minor, details)
            VALUES (p_distributor, p_reseller, v_seq, p_now, p_actor, 'drawing_posted', p_reference, p_amount,
                    CASE WHEN p_vendor IS NULL THEN NULL ELSE '{"vendor_id": ' || to_json(p_vendor)::text || '}' END);
        END IF;
        EXIT WHEN v_remaining = 0;
        v_take := least(v_remaining, greatest(0, v_line.available));
        CONTINUE WHEN v_take = 0;
        UPDATE line SET drawn_minor = drawn_minor + v_take
         WHERE distributor_id = p_distributor AND id = v_line.id;
        INSERT INTO allocation (distributor_id, reseller_id, drawing_reference, line_id, funder, amount_minor,
                                outstanding_minor, position)
        VALUES (p_distributor, p_reseller, p_reference, v_line.id, v_line.funder, v_take, v_take, v_position);
        v_seq := v_seq + 1;
        INSERT INTO ledger_entry (distributor_id, reseller_id, seq, at, actor, kind, line_id, drawing_reference,
                                  drawn_delta_minor)
        VALUES (p_distributor, p_reseller, v_seq, p_now, p_actor, 'drawing_allocated', v_line.id, p_reference,
                v_take);
        v_allocations := v_allocations || jsonb_build_array(jsonb_build_array(v_line.id, v_line.funder, v_take, v_take));
        v_position := v_position + 1;
        v_remaining := v_remaining - v_take;
    END LOOP;
    v_available := coalesce(v_available, 0);
    IF p_amount > v_available THEN
        RETURN jsonb_build_object('outcome', 'insufficient_credit', 'available', v_available,
                                  'shortfall', p_amount - v_available);
    END IF;
    IF v_remaining <> 0 THEN
        RAISE EXCEPTION 'creditlines_draw: the waterfall left % unallocated', v_remaining;
    END IF;
    UPDATE reseller SET ledger_seq = v_seq WHERE distributor_id = p_distributor AND id = p_reseller;
    RETURN jsonb_build_object('outcome', 'created', 'amount', p_amount, 'outstanding', p_amount, 'status', 'open',
                              'vendor_id', p_vendor, 'created_at', p_now, 'allocations', v_allocations);
END;
$$
