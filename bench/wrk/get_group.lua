-- GET /groups/{id} on random seeded groups. IDS: a file of group ids, one a line.
local ids = {}
for line in io.lines(os.getenv("KOHORT_BENCH_IDS")) do ids[#ids + 1] = line end
wrk.headers["Authorization"] = "Bearer " .. os.getenv("KOHORT_BENCH_KEY")

request = function()
  return wrk.format("GET", "/groups/" .. ids[math.random(#ids)])
end
