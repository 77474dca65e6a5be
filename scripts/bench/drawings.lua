-- POST drawings with unique references; HOT=1 sends them all to one reseller.
local resellers = tonumber(os.getenv("RESELLERS") or "1000")
local hot = os.getenv("HOT") == "1"
local key = os.getenv("KEY") or ""
local counter = 0
local tid = 0
local threads = {}
setup = function(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
init = function(args)
  tid = tonumber(wrk.thread:get("tid")) or 0
  math.randomseed(os.time() + tid * 7919)
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. key
request = function()
  counter = counter + 1
  local r = hot and 0 or math.random(1, resellers)
  local body = string.format('{"reference": "SO-%d-%d-%d", "amount": {"amount": "1.00", "currency": "EUR"}}',
                             tid, counter, math.random(1, 1000000000))
  return wrk.format(nil, string.format("/v1/distributors/bench/resellers/R-%06d/drawings", r), nil, body)
end
