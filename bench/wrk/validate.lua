-- POST /groups/{code}/validate on random seeded share codes.
local codes = {}
for line in io.lines(os.getenv("KOHORT_BENCH_CODES")) do codes[#codes + 1] = line end
wrk.headers["Authorization"] = "Bearer " .. os.getenv("KOHORT_BENCH_KEY")
wrk.headers["Content-Type"] = "application/json"

request = function()
  return wrk.format("POST", "/groups/" .. codes[math.random(#codes)] .. "/validate", nil,
    '{"amount": 5000}')
end
