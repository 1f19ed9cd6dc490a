-- flush: ARGV[4] the generation the runs were counted in (-1: none), ARGV[5] the runs
-- 'flags count age_us ...' oldest first, ARGV[6] the totals 'successes failures
-- timeouts slow rejected ignored', ARGV[7] trial leases to release 'id ...', ARGV[8]
-- a transition '' or 'expected_generation state mode open_for_us trips flags streak'
-- (flags: 1 clear the totals, 2 change the mode only; streak: the failure streak after
-- it).
-- Runs of another generation count in the totals only. Result: 0 no transition asked,
-- 1 applied, 2 refused (the generation moved: the caller adopts the reply's state).
local gen = tonumber(ARGV[4])
local runs = numbers(ARGV[5])
local t = numbers(ARGV[6])
st.ns = st.ns + t[1]; st.nf = st.nf + t[2]; st.nt = st.nt + t[3]
st.nsl = st.nsl + t[4]; st.nr = st.nr + t[5]; st.ni = st.ni + t[6]
for id in string.gmatch(ARGV[7], '%S+') do redis.call('ZREM', L, id) end
if gen == st.g then
  for i = 1, #runs, 3 do add_run(runs[i], runs[i + 1], runs[i + 2]) end
end
local result = 0
if ARGV[8] ~= '' then
  local tr = numbers(ARGV[8])
  if tr[1] == st.g then
    enter(tr[2], tr[3], tr[4], tr[5], tr[7], tr[6] % 2 == 1, tr[6] >= 2)
    result = 1
  else
    result = 2
  end
end
return finish(result)
