-- creditlines_draw_many (migration 0013): group commit. The drawings one worker received while
-- its previous calls were in flight, posted by one call, in one transaction, with one commit.
--   * First the resellers named are locked, in (distributor, id) order, so that two calls sharing
--     resellers take their locks in the same order. With p_wait false, a reseller whose row another
--     transaction holds is skipped (SKIP LOCKED) and its drawings are not posted here: their outcome
--     is NULL and the caller posts them again, with p_wait true (waiting for that lock). So a
--     drawing that must wait for a lock never makes the others of its call wait: a nightly job
--     holding one reseller delays that reseller's drawings only. With p_wait true every reseller
--     named is locked, waiting as needed (a deadlock with another kind of transaction is retried by
--     the caller, the whole call rolled back).
--   * Then each drawing is creditlines_draw's own call, in the order given (the order the worker
--     received them): each gets its own outcome. A refusal of one refuses nothing else; two
--     drawings with one reference answer as they would one after the other (created, then
--     replayed or idempotency_conflict); a later drawing of a reseller sees the earlier ones.
--   * The arrays are parallel, one element per drawing, with creditlines_draw's arguments.
--   * The caller's calls in a slot, a drawing alone included, never wait (p_wait false); only its
--     waiting lane's calls do (creditlines.db.batch).
-- Returns one row per drawing: its 1-based position in the arrays and creditlines_draw's answer
-- (NULL: skipped, its reseller was locked elsewhere). An exception in any drawing (never a
-- refusal: a fault) rolls back the call; the caller then posts each drawing on its own call, so
-- that only the faulty one fails (creditlines.db.batch).
CREATE OR REPLACE FUNCTION creditlines_draw_many(
    p_distributor text[], p_reseller text[], p_reference text[], p_amount bigint[], p_vendor text[],
    p_actor text[], p_now timestamp[], p_day date[], p_on_refusal text[], p_invoice_date date[], p_due_on date[],
    p_wait boolean
) RETURNS TABLE (position_in_call int, outcome jsonb) LANGUAGE plpgsql
-- Its statements take arrays: planned afresh on every call by default (a custom plan per call),
-- which cost a call of one drawing half again as much as creditlines_draw's own statement. The
-- generic plan (lookups by key) is kept instead.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_locked text[];  -- distributor || chr(31) || reseller of the rows locked here (p_wait false)
BEGIN
    IF p_wait THEN
        PERFORM 1 FROM reseller r
          JOIN (SELECT DISTINCT d, id FROM unnest(p_distributor, p_reseller) AS u(d, id)) named
            ON r.distributor_id = named.d AND r.id = named.id
         ORDER BY r.distributor_id, r.id
           FOR UPDATE OF r;
    ELSE
        SELECT coalesce(array_agg(k), '{}') INTO v_locked FROM (
            SELECT r.distributor_id || chr(31) || r.id AS k FROM reseller r
              JOIN (SELECT DISTINCT d, id FROM unnest(p_distributor, p_reseller) AS u(d, id)) named
                ON r.distributor_id = named.d AND r.id = named.id
             ORDER BY r.distributor_id, r.id
               FOR UPDATE OF r SKIP LOCKED) locked_here;
    END IF;
    FOR i IN 1 .. coalesce(array_length(p_reference, 1), 0) LOOP
        position_in_call := i;
        IF p_wait OR p_distributor[i] || chr(31) || p_reseller[i] = ANY (v_locked)
           OR NOT EXISTS (SELECT 1 FROM reseller WHERE distributor_id = p_distributor[i] AND id = p_reseller[i]) THEN
            outcome := creditlines_draw(p_distributor[i], p_reseller[i], p_reference[i], p_amount[i], p_vendor[i],
                                        p_actor[i], p_now[i], p_day[i], p_on_refusal[i], p_invoice_date[i],
                                        p_due_on[i]);
        ELSE
            outcome := NULL;
        END IF;
        RETURN NEXT;
    END LOOP;
END;
$$
