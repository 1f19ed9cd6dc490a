-- tripwire fleet store: the prelude every script starts with (the scripts are this
-- text followed by one operation). The store stores and compares; the core decides.
-- KEYS[1] the breaker's hash, KEYS[2] its window, KEYS[3] its trial leases, all under
-- one hash tag ({prefix:name}). ARGV[1] now in µs ('' = the server's TIME), ARGV[2]
-- the keys' TTL in ms, ARGV[3] the window ('c SIZE' or 't WIDTH_US BUCKETS').
-- Times are µs on the store's clock; replies carry durations only.
local H, W, L = KEYS[1], KEYS[2], KEYS[3]
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local ttl = tonumber(ARGV[2])
local wkind, wa, wb = string.match(ARGV[3], '^(%a) (%d+) ?(%d*)$')
wa = tonumber(wa)
wb = tonumber(wb)

-- Lua's tostring loses digits above 14: every number written as text goes through int.
local function int(x) return string.format('%d', x) end
local function numbers(s)
  local t = {}
  for w in string.gmatch(s, '%S+') do t[#t + 1] = tonumber(w) end
  return t
end

local raw = redis.call('HGETALL', H)
local f = {}
for i = 1, #raw, 2 do f[raw[i]] = raw[i + 1] end
local function num(k) return tonumber(f[k] or '0') end
local FIELDS = {'g', 's', 'm', 'ou', 'tr', 'cf', 'cs', 'fs', 'b', 'ns', 'nf', 'nt', 'nsl', 'nr', 'ni', 'wc', 'wf', 'ws'}
local st = {}
for _, k in ipairs(FIELDS) do st[k] = num(k) end
if f['b'] == nil then st.b = now end
local fp = f['fp'] or ''

-- The time window, loaded once: epoch -> {calls, failures, slow}; stale buckets leave.
local cur, buckets, dirty = 0, {}, {}
if wkind == 't' then
  cur = math.floor(now / wa)
  local rb = redis.call('HGETALL', W)
  for i = 1, #rb, 2 do
    local e = tonumber(rb[i])
    if e + wb <= cur then
      redis.call('HDEL', W, rb[i])
    else
      local c, fa, sl = string.match(rb[i + 1], '^(%d+) (%d+) (%d+)$')
      buckets[e] = {tonumber(c), tonumber(fa), tonumber(sl)}
    end
  end
end

-- n outcomes alike (flags: 1 failed, 2 slow), `age` µs ago, into the window, the
-- consecutive counts and the failure streak: what one run of a flush request adds.
local function add_run(flags, n, age)
  local failed, slow = flags % 2 == 1, flags >= 2
  if failed then
    st.cf = st.cf + n; st.fs = st.fs + n; st.cs = 0
  else
    st.cs = st.cs + n; st.cf = 0; st.fs = 0
  end
  if wkind == 't' then
    local e = math.floor((now - age) / wa)
    if e + wb <= cur then return end
    local b = buckets[e] or {0, 0, 0}
    b[1] = b[1] + n
    if failed then b[2] = b[2] + n end
    if slow then b[3] = b[3] + n end
    buckets[e] = b
    dirty[e] = true
    return
  end
  if n > wa then n = wa end
  local evict = st.wc + n - wa
  while evict > 0 do
    local hf, hc = string.match(redis.call('LINDEX', W, 0), '^(%d+) (%d+)$')
    hf = tonumber(hf); hc = tonumber(hc)
    local k = math.min(hc, evict)
    st.wc = st.wc - k
    if hf % 2 == 1 then st.wf = st.wf - k end
    if hf >= 2 then st.ws = st.ws - k end
    if k == hc then redis.call('LPOP', W) else redis.call('LSET', W, 0, int(hf) .. ' ' .. int(hc - k)) end
    evict = evict - k
  end
  local tail = redis.call('LINDEX', W, -1)
  local tf, tc
  if tail then tf, tc = string.match(tail, '^(%d+) (%d+)$') end
  if tail and tonumber(tf) == flags then
    redis.call('LSET', W, -1, int(flags) .. ' ' .. int(tonumber(tc) + n))
  else
    redis.call('RPUSH', W, int(flags) .. ' ' .. int(n))
  end
  st.wc = st.wc + n
  if failed then st.wf = st.wf + n end
  if slow then st.ws = st.ws + n end
end

-- A transition the compare-and-set let through: a new generation with fresh counts;
-- OPEN keeps the window that opened it, the others start an empty one; every trial
-- lease ends (`mode_only`: only the mode changes, as `enable` does); the failure
-- streak becomes `streak` (the deciding core's). Published on {prefix:name}:events as
-- 'generation state mode'.
local function enter(s, m, open_for, trips, streak, clear_totals, mode_only)
  st.g = st.g + 1
  st.m = m
  if mode_only then
    redis.call('PUBLISH', H .. ':events', int(st.g) .. ' ' .. int(st.s) .. ' ' .. int(m))
    return
  end
  st.s = s
  if s == 1 and m == 0 then st.ou = now + open_for else st.ou = 0 end
  st.tr = trips
  st.fs = streak
  st.cf = 0
  st.cs = 0
  if s ~= 1 then
    redis.call('DEL', W)
    st.wc = 0; st.wf = 0; st.ws = 0
    buckets = {}
    dirty = {}
  end
  redis.call('DEL', L)
  if clear_totals then
    st.ns = 0; st.nf = 0; st.nt = 0; st.nsl = 0; st.nr = 0; st.ni = 0
  end
  redis.call('PUBLISH', H .. ':events', int(st.g) .. ' ' .. int(s) .. ' ' .. int(m))
end

local function live_leases()
  redis.call('ZREMRANGEBYSCORE', L, '-inf', now)
  return redis.call('ZCARD', L)
end

-- Saves the state, renews the TTLs and answers (every script ends here).
local function finish(result, extra)
  local leases = live_leases()
  local kv = {}
  for _, k in ipairs(FIELDS) do
    kv[#kv + 1] = k
    kv[#kv + 1] = int(st[k])
  end
  kv[#kv + 1] = 'fp'
  kv[#kv + 1] = fp
  redis.call('HSET', H, unpack(kv))
  for e, _ in pairs(dirty) do
    local b = buckets[e]
    if b then redis.call('HSET', W, int(e), int(b[1]) .. ' ' .. int(b[2]) .. ' ' .. int(b[3])) end
  end
  redis.call('PEXPIRE', H, ttl)
  redis.call('PEXPIRE', W, ttl)
  redis.call('PEXPIRE', L, ttl)
  local remaining = 0
  if st.s == 1 and st.m == 0 and st.ou > now then remaining = st.ou - now end
  local r = {st.g, st.s, st.m, remaining, st.tr, st.cf, st.cs, st.fs, leases, result, st.b,
    st.ns, st.nf, st.nt, st.nsl, st.nr, st.ni}
  if wkind == 't' then
    local es = {}
    for e, _ in pairs(buckets) do es[#es + 1] = e end
    table.sort(es)
    r[#r + 1] = now % wa
    r[#r + 1] = #es
    for _, e in ipairs(es) do
      local b = buckets[e]
      r[#r + 1] = cur - e
      r[#r + 1] = b[1]
      r[#r + 1] = b[2]
      r[#r + 1] = b[3]
    end
  else
    local runs = redis.call('LRANGE', W, 0, -1)
    r[#r + 1] = #runs
    for _, run in ipairs(runs) do
      local rf, rc = string.match(run, '^(%d+) (%d+)$')
      r[#r + 1] = tonumber(rf)
      r[#r + 1] = tonumber(rc)
    end
  end
  if extra then r[#r + 1] = extra end
  return r
end
