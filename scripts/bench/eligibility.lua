-- POST an eligibility check for a random reseller among RESELLERS (env), amount 100.00 EUR.
local resellers = tonumber(os.getenv("RESELLERS") or "1000")
local key = os.getenv("KEY") or ""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. key
wrk.body = '{"amount": {"amount": "100.00", "currency": "EUR"}}'
request = function()
  local r = math.random(1, resellers)
  return wrk.format(nil, string.format("/v1/distributors/bench/resellers/R-%06d/eligibility", r))
end
