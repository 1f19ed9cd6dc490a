-- read (join, resync, poll): ARGV[4] the configuration's fingerprint. Stores it when
-- the breaker has none; answers 1 when it matches, else 0 and the stored one last.
local mine = ARGV[4]
if fp == '' then fp = mine end
if fp == mine then return finish(1) end
return finish(0, fp)
