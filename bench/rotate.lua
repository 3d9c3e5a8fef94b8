-- wrk script for `make bench`: cycle through pre-built requests (many users, many tokens).
--
-- BENCH_REQUESTS names a file with one request per line, tab-separated:
--   METHOD  PATH  TOKEN-or-"-"  BODY-or-"-"
-- Every request is formatted once in init(); request() only hands the next one out, so the
-- load generator spends its time on the network, not in Lua. Each thread starts at its own
-- offset, so concurrent connections use different users. done() prints one JSON line
-- (prefix "BENCH_JSON ") that bench/wrk.py reads.

local requests = {}
local next_index = 1

local function split(line)
  local fields = {}
  for field in (line .. "\t"):gmatch("([^\t]*)\t") do
    fields[#fields + 1] = field
  end
  return fields
end

local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_number", thread_count)
end

function init(args)
  local close = os.getenv("BENCH_CONNECTION_CLOSE") == "1"
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    local f = split(line)
    local headers = { ["Host"] = "127.0.0.1" }
    if f[3] ~= "-" then headers["Authorization"] = "Bearer " .. f[3] end
    local body = nil
    if f[4] ~= "-" then
      body = f[4]
      headers["Content-Type"] = "application/json"
    end
    if close then headers["Connection"] = "close" end
    requests[#requests + 1] = wrk.format(f[1], f[2], headers, body)
  end
  -- thread_number is set by setup() before init() runs in the thread
  next_index = ((thread_number or 1) * 7919) % #requests + 1
end

function request()
  local r = requests[next_index]
  next_index = next_index % #requests + 1
  return r
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "non_2xx": %d, "connect_errors": %d, '
      .. '"read_errors": %d, "write_errors": %d, "timeouts": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
