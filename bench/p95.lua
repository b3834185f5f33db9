-- wrk reports p50/75/90/99; the target is p95, so print it (microseconds) with the totals.
-- With BENCH_PAGES=n, every request asks for a page between 1 and n at random (a script paging through a list).
local pages = tonumber(os.getenv("BENCH_PAGES") or "0")
if pages > 0 then
  request = function()
    local joiner = string.find(wrk.path, "?", 1, true) and "&" or "?"
    return wrk.format(nil, wrk.path .. joiner .. "page=" .. math.random(1, pages))
  end
end

done = function(summary, latency, requests)
  io.write(string.format("BENCH p95_us=%d p50_us=%d requests=%d errors=%d status_errors=%d\n",
    latency:percentile(95), latency:percentile(50), summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
