-- lease: ARGV[4] the generation the caller saw, ARGV[5] the lease's id, ARGV[6] its
-- TTL in µs, ARGV[7] half_open_max_calls. In that generation, an OPEN circuit whose
-- open time has passed becomes HALF_OPEN (a new generation), and a HALF_OPEN one
-- grants the lease while fewer than the maximum are live. Result: 1 granted, 0 not.
local gen, id, lttl, max = tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
local result = 0
if gen == st.g and st.m == 0 then
  if st.s == 1 and now >= st.ou then enter(2, 0, 0, st.tr, st.fs, false) end
  if st.s == 2 and live_leases() < max then
    redis.call('ZADD', L, now + lttl, id)
    result = 1
  end
end
return finish(result)
