-- POST /orders joining random seeded groups, each a new buyer: their own e-mail, name and
-- address, so that a join is scored against the group's members as a real sale day's is
-- (mostly LOW: nothing in common with the members).
local codes = {}
for line in io.lines(os.getenv("KOHORT_BENCH_CODES")) do codes[#codes + 1] = line end
wrk.headers["Authorization"] = "Bearer " .. os.getenv("KOHORT_BENCH_KEY")
wrk.headers["Content-Type"] = "application/json"
local run = os.getenv("KOHORT_BENCH_RUN")
local counter = 0
local threads = 0
local letters = "abcdefghijklmnopqrstuvwxyz"

setup = function(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

init = function()
  math.randomseed(tonumber(run) % 1000000 + tid)
end

local function word(n)
  local out = {}
  for i = 1, n do
    local k = math.random(#letters)
    out[i] = letters:sub(k, k)
  end
  return table.concat(out)
end

request = function()
  counter = counter + 1
  local body = string.format(
    '{"amount": 5000, "customerEmail": "%s.%s%d%d@%s.example", "customerFirstName": "%s",'
      .. ' "customerLastName": "%s", "customerIp": "10.%d.%d.%d", "paymentGroupShareId": "%s"}',
    word(6), word(6), tid, counter, word(8), word(7), word(9),
    math.random(0, 255), math.random(0, 255), math.random(1, 254),
    codes[math.random(#codes)])
  return wrk.format("POST", "/orders", nil, body)
end
