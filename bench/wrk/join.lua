-- POST /orders joining random seeded groups, each with a new e-mail.
local codes = {}
for line in io.lines(os.getenv("KOHORT_BENCH_CODES")) do codes[#codes + 1] = line end
wrk.headers["Authorization"] = "Bearer " .. os.getenv("KOHORT_BENCH_KEY")
wrk.headers["Content-Type"] = "application/json"
local run = os.getenv("KOHORT_BENCH_RUN")
local counter = 0
local threads = 0

setup = function(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

request = function()
  counter = counter + 1
  local body = string.format(
    '{"amount": 5000, "customerEmail": "b%s-%d-%d@example.com", "customerFirstName": "B",'
      .. ' "customerLastName": "Ench", "paymentGroupShareId": "%s"}',
    run, tid, counter, codes[math.random(#codes)])
  return wrk.format("POST", "/orders", nil, body)
end
