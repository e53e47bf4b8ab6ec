-- wrk script: POST the PNG named by $PNG to /api/predict.
local file = assert(io.open(os.getenv("PNG"), "rb"))
wrk.method = "POST"
wrk.headers["Content-Type"] = "image/png"
wrk.body = file:read("*a")
file:close()

-- Count answers that are not 200, so that a run of refusals is not mistaken for throughput.
local refused = 0
response = function(status, headers, body)
  if status ~= 200 then refused = refused + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("non-200 answers: %d\n", refused))
end
