-- A sale day's mix, drawn per request: POST /groups/{code}/validate 70 %, GET /groups/{id}
-- 20 %, POST /orders joining a group 10 % (a new buyer each time, as join.lua).
-- IDS, CODES: files of group ids and share codes, one a line.
local ids, codes = {}, {}
for line in io.lines(os.getenv("KOHORT_BENCH_IDS")) do ids[#ids + 1] = line end
for line in io.lines(os.getenv("KOHORT_BENCH_CODES")) do codes[#codes + 1] = line end
local auth = "Bearer " .. os.getenv("KOHORT_BENCH_KEY")
local json = { ["Authorization"] = auth, ["Content-Type"] = "application/json" }
local plain = { ["Authorization"] = auth }
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

local function join()
  counter = counter + 1
  local body = string.format(
    '{"amount": 5000, "customerEmail": "%s.%s%d%d@%s.example", "customerFirstName": "%s",'
      .. ' "customerLastName": "%s", "customerIp": "10.%d.%d.%d", "paymentGroupShareId": "%s"}',
    word(6), word(6), tid, counter, word(8), word(7), word(9),
    math.random(0, 255), math.random(0, 255), math.random(1, 254),
    codes[math.random(#codes)])
  return wrk.format("POST", "/orders", json, body)
end

request = function()
  local draw = math.random(100)
  if draw <= 70 then
    return wrk.format("POST", "/groups/" .. codes[math.random(#codes)] .. "/validate", json,
      '{"amount": 5000}')
  elseif draw <= 90 then
    return wrk.format("GET", "/groups/" .. ids[math.random(#ids)], plain)
  end
  return join()
end
