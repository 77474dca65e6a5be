-- creditlines_draw as of migration 0011: migration 0005's drawing, and three things more:
--   * p_on_refusal 'hold' (SPEC §16, 0010): a drawing refused for insufficient credit, an account
--     on hold or an overdue stop is stored as a held order under the reseller's lock (status
--     'held', nothing drawn, reseller.held_count + 1, event drawing.held) and answered with outcome
--     'held'; 'reseller_terminated' is never held. A replay answers the drawing as stored.
--   * financing lines (SPEC §17, 0010): usable only by the drawing whose reference is their
--     order_reference, first in its waterfall; drawing on one starts the financier's clock
--     (financing.drawn_at, due_at). Financing lines count in no reseller total.
--   * payment terms, due dates and the overdue stop (SPEC §18, 0011; the Python path is
--     creditlines.ledger.drawings with creditlines.ledger.terms): p_invoice_date, p_due_on given by
--     the ERP or null. invoice_date defaults to p_day (the distributor's local date of posting;
--     least(p_day, p_due_on) when only a due date before it was given); due_on to invoice_date +
--     the reseller's terms (its override, else the distributor's payment_terms_days). A replay
--     that names a date other than the stored one is an idempotency conflict. With the
--     distributor's overdue_stop_after_days set, the outstanding of the reseller's drawings due
--     before p_day - after_days (one range sum over the partial index ix_drawing_open_due), when
--     above 0 and at least overdue_stop_min_minor, refuses (or holds) the drawing and announces the
--     stop once per episode (reseller.overdue_stop_since set, event reseller.overdue_stop).
-- The events, in the same transaction (SPEC §13):
--   drawing.created                 the drawing (its invoice_date and due_on) and its allocations
--   drawing.refused                 on hold, terminated, overdue stop or insufficient credit
--   drawing.held                    a held order stored
--   reseller.overdue_stop           the first refusal (or hold) that finds a stop
--   reseller.utilisation_crossed    70, 85, 100 % of the reseller's total limit, upward
--   reseller.over_limit             drawn above the total limit
-- The Python path (creditlines.ledger.drawings.draw_in_python) writes the same rows and events on
-- SQLite; tests/ledger/test_draw_parity.py compares the two on PostgreSQL.
CREATE OR REPLACE FUNCTION creditlines_draw(
    p_distributor text, p_reseller text, p_reference text, p_amount bigint, p_vendor text,
    p_actor text, p_now timestamp, p_day date, p_on_refusal text, p_invoice_date date, p_due_on date
) RETURNS jsonb LANGUAGE plpgsql
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
    v_event_allocations jsonb := '[]'::jsonb;
    v_line record;
    v_limit bigint := 0;   -- the reseller's total limit over current lines
    v_drawn bigint := 0;   -- its total drawn, before this drawing
    v_threshold int;
    v_hold_days int;
    v_reasons text[];
    v_shortfall bigint;
    v_reseller_terms int;
    v_stop_since timestamp;
    v_terms int;
    v_after int;
    v_min bigint;
    v_overdue bigint;
    v_stopped boolean := false;
    v_invoice date;
    v_due date;
BEGIN
    SELECT status, ledger_seq, payment_terms_days, overdue_stop_since
      INTO v_status, v_seq, v_reseller_terms, v_stop_since FROM reseller
     WHERE distributor_id = p_distributor AND id = p_reseller FOR UPDATE;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('outcome', 'not_found');
    END IF;

    SELECT * INTO v_existing FROM drawing
     WHERE distributor_id = p_distributor AND reseller_id = p_reseller AND reference = p_reference;
    IF FOUND THEN
        IF v_existing.amount_minor <> p_amount OR v_existing.vendor_id IS DISTINCT FROM p_vendor
           OR p_invoice_date <> v_existing.invoice_date OR p_due_on <> v_existing.due_on THEN
            RETURN jsonb_build_object('outcome', 'idempotency_conflict');
        END IF;
        RETURN jsonb_build_object(
            'outcome', 'replayed', 'amount', v_existing.amount_minor, 'outstanding', v_existing.outstanding_minor,
            'status', v_existing.status, 'vendor_id', v_existing.vendor_id, 'created_at', v_existing.created_at,
            'invoice_date', v_existing.invoice_date, 'due_on', v_existing.due_on,
            'allocations', (SELECT coalesce(jsonb_agg(jsonb_build_array(line_id, funder, amount_minor, outstanding_minor)
                                                      ORDER BY position), '[]'::jsonb)
                              FROM allocation WHERE distributor_id = p_distributor AND reseller_id = p_reseller
                                                AND drawing_reference = p_reference),
            'hold', CASE WHEN v_existing.held_at IS NULL THEN NULL ELSE jsonb_build_object(
                'reasons', to_jsonb(string_to_array(v_existing.hold_reasons, ',')),
                'shortfall', v_existing.hold_shortfall_minor, 'held_at', v_existing.held_at,
                'expires_at', v_existing.hold_expires_at, 'released_at', v_existing.hold_released_at) END);
    END IF;
    IF v_status = 'terminated' OR (v_status = 'on_hold' AND p_on_refusal IS DISTINCT FROM 'hold') THEN
        INSERT INTO event (type, occurred_at, distributor_id, reseller_id, data)
        VALUES ('drawing.refused', p_now, p_distributor, p_reseller,
                jsonb_build_object('reference', p_reference, 'amount_minor', p_amount, 'vendor_id', p_vendor,
                                   'reasons', jsonb_build_array(CASE v_status WHEN 'terminated'
                                       THEN 'reseller_terminated' ELSE 'account_on_hold' END))::text);
        RETURN jsonb_build_object('outcome', CASE v_status WHEN 'terminated'
                                      THEN 'reseller_terminated' ELSE 'account_on_hold' END);
    END IF;

    SELECT payment_terms_days, overdue_stop_after_days, overdue_stop_min_minor INTO v_terms, v_after, v_min
      FROM distributor WHERE id = p_distributor;
    IF v_after IS NOT NULL THEN
        SELECT coalesce(sum(outstanding_minor), 0) INTO v_overdue FROM drawing
         WHERE distributor_id = p_distributor AND reseller_id = p_reseller AND outstanding_minor > 0
           AND due_on < p_day - v_after;
        IF v_overdue > 0 AND v_overdue >= v_min THEN
            v_stopped := true;
            IF p_on_refusal IS DISTINCT FROM 'hold' THEN
                INSERT INTO event (type, occurred_at, distributor_id, reseller_id, data)
                VALUES ('drawing.refused', p_now, p_distributor, p_reseller,
                        jsonb_build_object('reference', p_reference, 'amount_minor', p_amount, 'vendor_id', p_vendor,
                                           'reasons', jsonb_build_array('overdue_stop'),
                                           'overdue_minor', v_overdue)::text);
            END IF;
            IF v_stop_since IS NULL THEN
                UPDATE reseller SET overdue_stop_since = p_now
                 WHERE distributor_id = p_distributor AND id = p_reseller;
                INSERT INTO event (type, occurred_at, distributor_id, reseller_id, data)
                VALUES ('reseller.overdue_stop', p_now, p_distributor, p_reseller,
                        jsonb_build_object('overdue_minor', v_overdue, 'after_days', v_after,
                                           'min_amount_minor', v_min, 'cause', 'drawing',
                                           'reference', p_reference)::text);
            END IF;
            IF p_on_refusal IS DISTINCT FROM 'hold' THEN
                RETURN jsonb_build_object('outcome', 'overdue_stop', 'overdue', v_overdue, 'after_days', v_after,
                                          'min_amount', v_min);
            END IF;
        END IF;
    END IF;
    v_invoice := coalesce(p_invoice_date, CASE WHEN p_due_on IS NULL THEN p_day ELSE least(p_day, p_due_on) END);
    v_due := coalesce(p_due_on, v_invoice + coalesce(v_reseller_terms, v_terms));

    -- One pass over the reseller's lines in waterfall order: the usable ones, each with what it
    -- has available (drawn on lines already past their end under transfer_to_base weighs on
    -- the base line), the first row carrying the total available and the reseller's totals.
    FOR v_line IN
        SELECT id, funder, kind, available, sum(available) OVER () AS total, total_limit, total_drawn FROM (
            SELECT id, funder, grant_seq, kind, valid_until, usable,
                   limit_minor - drawn_minor - CASE WHEN kind <> 'base' THEN 0 ELSE sum(
                       CASE WHEN status = 'active' AND valid_until IS NOT NULL AND p_day > valid_until
                                 AND on_expiry = 'transfer_to_base' THEN drawn_minor ELSE 0 END) OVER () END
                   AS available,
                   sum(CASE WHEN is_current THEN limit_minor ELSE 0 END) OVER () AS total_limit,
                   sum(CASE WHEN is_current OR (status = 'active' AND valid_until IS NOT NULL AND p_day > valid_until
                                                AND on_expiry = 'transfer_to_base')
                            THEN drawn_minor ELSE 0 END) OVER () AS total_drawn
              FROM (SELECT *, status = 'active' AND valid_from <= p_day AND kind <> 'financing'
                                  AND (valid_until IS NULL OR p_day <= valid_until) AS is_current,
                              status = 'active' AND valid_from <= p_day
                                  AND (valid_until IS NULL OR p_day <= valid_until)
                                  AND (kind <> 'financing' OR order_reference = p_reference)
                                  AND (usable_for = 'any' OR (p_vendor IS NOT NULL AND vendor_id = p_vendor)) AS usable
                      FROM line WHERE distributor_id = p_distributor AND reseller_id = p_reseller) lines) scored
         WHERE usable
         ORDER BY kind <> 'financing', kind <> 'base',
                  CASE WHEN kind = 'base' THEN '-infinity'::date ELSE coalesce(valid_until, 'infinity'::date) END,
                  grant_seq
    LOOP
        IF v_available IS NULL THEN
            v_available := greatest(0, v_line.total);
            v_limit := v_line.total_limit;
            v_drawn := v_line.total_drawn;
            IF p_amount > v_available OR v_status = 'on_hold' OR v_stopped THEN
                EXIT;
            END IF;
            INSERT INTO drawing (distributor_id, reseller_id, reference, amount_minor, outstanding_minor, vendor_id,
                                 status, created_at, created_by, invoice_date, due_on)
            VALUES (p_distributor, p_reseller, p_reference, p_amount, p_amount, p_vendor, 'open', p_now, p_actor,
                    v_invoice, v_due);
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
        IF v_line.kind = 'financing' THEN  -- the financier's clock starts with the drawing
            UPDATE financing SET drawn_at = p_now, due_at = p_now + make_interval(hours => pay_within_hours)
             WHERE distributor_id = p_distributor AND reseller_id = p_reseller AND line_id = v_line.id;
        END IF;
        v_allocations := v_allocations || jsonb_build_array(jsonb_build_array(v_line.id, v_line.funder, v_take, v_take));
        v_event_allocations := v_event_allocations
            || jsonb_build_array(jsonb_build_object('line_id', v_line.id, 'funder', v_line.funder, 'amount_minor', v_take));
        v_position := v_position + 1;
        v_remaining := v_remaining - v_take;
    END LOOP;
    v_available := coalesce(v_available, 0);
    IF v_status = 'on_hold' OR v_stopped OR p_amount > v_available THEN
        -- on_refusal 'hold' here (an on-hold or stopped reseller with 'refuse' was answered above)
        v_reasons := CASE WHEN v_status = 'on_hold' THEN ARRAY['account_on_hold'] ELSE ARRAY[]::text[] END
                     || CASE WHEN v_stopped THEN ARRAY['overdue_stop'] ELSE ARRAY[]::text[] END
                     || CASE WHEN p_amount > v_available THEN ARRAY['insufficient_credit'] ELSE ARRAY[]::text[] END;
        v_shortfall := CASE WHEN p_amount > v_available THEN p_amount - v_available END;
    END IF;
    IF p_on_refusal = 'hold' AND v_reasons IS NOT NULL THEN
        SELECT hold_days INTO v_hold_days FROM distributor WHERE id = p_distributor;
        INSERT INTO drawing (distributor_id, reseller_id, reference, amount_minor, outstanding_minor, vendor_id,
                             status, created_at, created_by, held_at, hold_expires_at, hold_reasons,
                             hold_shortfall_minor, invoice_date, due_on)
        VALUES (p_distributor, p_reseller, p_reference, p_amount, 0, p_vendor, 'held', p_now, p_actor, p_now,
                p_now + make_interval(days => v_hold_days), array_to_string(v_reasons, ','), v_shortfall,
                v_invoice, v_due);
        UPDATE reseller SET held_count = held_count + 1 WHERE distributor_id = p_distributor AND id = p_reseller;
        INSERT INTO event (type, occurred_at, distributor_id, reseller_id, data)
        VALUES ('drawing.held', p_now, p_distributor, p_reseller,
                jsonb_build_object('reference', p_reference, 'amount_minor', p_amount, 'vendor_id', p_vendor,
                                   'reasons', to_jsonb(v_reasons), 'available_minor', v_available,
                                   'shortfall_minor', v_shortfall, 'hold_days', v_hold_days)::text);
        RETURN jsonb_build_object('outcome', 'held', 'amount', p_amount, 'outstanding', 0, 'status', 'held',
                                  'vendor_id', p_vendor, 'created_at', p_now, 'allocations', '[]'::jsonb,
                                  'invoice_date', v_invoice, 'due_on', v_due,
                                  'hold', jsonb_build_object('reasons', to_jsonb(v_reasons), 'shortfall', v_shortfall,
                                                             'held_at', p_now,
                                                             'expires_at', p_now + make_interval(days => v_hold_days),
                                                             'released_at', NULL));
    END IF;
    IF p_amount > v_available THEN
        INSERT INTO event (type, occurred_at, distributor_id, reseller_id, data)
        VALUES ('drawing.refused', p_now, p_distributor, p_reseller,
                jsonb_build_object('reference', p_reference, 'amount_minor', p_amount, 'vendor_id', p_vendor,
                                   'reasons', jsonb_build_array('insufficient_credit'),
                                   'available_minor', v_available, 'shortfall_minor', p_amount - v_available)::text);
        RETURN jsonb_build_object('outcome', 'insufficient_credit', 'available', v_available,
                                  'shortfall', p_amount - v_available);
    END IF;
    IF v_remaining <> 0 THEN
        RAISE EXCEPTION 'creditlines_draw: the waterfall left % unallocated', v_remaining;
    END IF;
    UPDATE reseller SET ledger_seq = v_seq WHERE distributor_id = p_distributor AND id = p_reseller;
    INSERT INTO event (type, occurred_at, distributor_id, reseller_id, data)
    VALUES ('drawing.created', p_now, p_distributor, p_reseller,
            jsonb_build_object('reference', p_reference, 'amount_minor', p_amount, 'vendor_id', p_vendor,
                               'invoice_date', v_invoice, 'due_on', v_due,
                               'allocations', v_event_allocations)::text);
    -- Alerts, from the totals before (v_limit, v_drawn) and after (v_drawn + p_amount); the rule
    -- is creditlines.events.alerts.reached: limit > 0 and drawn * 100 >= threshold * limit, or
    -- nothing to draw on (limit 0) and something drawn.
    FOREACH v_threshold IN ARRAY ARRAY[70, 85, 100] LOOP
        IF NOT (CASE WHEN v_limit > 0 THEN v_drawn * 100 >= v_threshold::bigint * v_limit ELSE v_drawn > 0 END)
           AND (CASE WHEN v_limit > 0 THEN (v_drawn + p_amount) * 100 >= v_threshold::bigint * v_limit
                     ELSE v_drawn + p_amount > 0 END) THEN
            INSERT INTO event (type, occurred_at, distributor_id, reseller_id, data)
            VALUES ('reseller.utilisation_crossed', p_now, p_distributor, p_reseller,
                    jsonb_build_object('threshold', v_threshold, 'total_limit_minor', v_limit,
                                       'total_drawn_minor', v_drawn + p_amount, 'cause', 'drawing',
                                       'reference', p_reference)::text);
        END IF;
    END LOOP;
    IF v_drawn <= v_limit AND v_drawn + p_amount > v_limit THEN
        INSERT INTO event (type, occurred_at, distributor_id, reseller_id, data)
        VALUES ('reseller.over_limit', p_now, p_distributor, p_reseller,
                jsonb_build_object('total_limit_minor', v_limit, 'total_drawn_minor', v_drawn + p_amount,
                                   'cause', 'drawing', 'reference', p_reference)::text);
    END IF;
    RETURN jsonb_build_object('outcome', 'created', 'amount', p_amount, 'outstanding', p_amount, 'status', 'open',
                              'vendor_id', p_vendor, 'created_at', p_now, 'invoice_date', v_invoice, 'due_on', v_due,
                              'allocations', v_allocations, 'hold', NULL);
END;
$$
