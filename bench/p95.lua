-- wrk reports p50/75/90/99; the target is p95, so print it (microseconds) with the totals.
done = function(summary, latency, requests)
  io.write(string.format("BENCH p95_us=%d p50_us=%d requests=%d errors=%d status_errors=%d\n",
    latency:percentile(95), latency:percentile(50), summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
