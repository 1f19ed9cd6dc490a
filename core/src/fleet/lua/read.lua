-- read (join, resync, poll): ARGV[4] the configuration's fingerprint. Stores it when
-- the breaker has none; answers 1 when it matches, else 0 and the stored one last.
-- ARGV[5] (the join of a breaker made in a start state) '' or 'state open_for_us
-- trips': a breaker the store does not hold yet is made in that state (one that exists
-- is only read: joining never resets anything).
local mine = ARGV[4]
if f['b'] == nil and (ARGV[5] or '') ~= '' then
  local s = numbers(ARGV[5])
  enter(s[1], 0, s[2], s[3], 0, false)
end
if fp == '' then fp = mine end
if fp == mine then return finish(1) end
return finish(0, fp)
