-- wrk reports p50/75/90/99; the target is p95, so print it (microseconds) with the totals.
-- With BENCH_PAGES=n, every request asks for a page between 1 and n at random (a script paging through a list).
-- With BENCH_MIX=file, every request is one line of the file at random: a path, then tab-separated headers
-- ("Name: value"), so that one run mixes pages (a session cookie) and API reads (a key).
local pages = tonumber(os.getenv("BENCH_PAGES") or "0")
local mix_file = os.getenv("BENCH_MIX")
if mix_file and mix_file ~= "" then
  local mix = {}
  init = function(args)  -- per thread, once wrk knows the host (wrk.format adds it)
    for line in io.lines(mix_file) do
      local fields = {}
      for field in string.gmatch(line, "[^\t]+") do table.insert(fields, field) end
      local headers = {}
      for i = 2, #fields do
        local name, value = string.match(fields[i], "^([^:]+):%s*(.*)$")
        headers[name] = value
      end
      table.insert(mix, wrk.format("GET", fields[1], headers))
    end
  end
  request = function()
    return mix[math.random(1, #mix)]
  end
elseif pages > 0 then
  request = function()
    local joiner = string.find(wrk.path, "?", 1, true) and "&" or "?"
    return wrk.format(nil, wrk.path .. joiner .. "page=" .. math.random(1, pages))
  end
end

done = function(summary, latency, requests)
  io.write(string.format("BENCH p95_us=%d p50_us=%d requests=%d errors=%d status_errors=%d timeouts=%d\n",
    latency:percentile(95), latency:percentile(50), summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, summary.errors.timeout))
end
