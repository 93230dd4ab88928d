-- The baseline: GET / on the bare ASGI app.
request = function()
  return wrk.format("GET", "/")
end
