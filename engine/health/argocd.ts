/**
 * Argo CD custom health checks (Lua) for taskplane.dev/JobRun and taskplane.dev/JobConfig: the
 * exact text that `GitOpsHealthChecks` puts into argocd-cm and `test/engine/health-lua.test.ts`
 * runs with a real Lua 5.1 interpreter.
 *
 * Argo CD runs them in gopher-lua (Lua 5.1) with only the base, table, package and a reduced os
 * library open: no `string.*`, no `math.*`. The global `obj` is the live object; the script returns
 * `{ status, message }`. Argo CD itself reports an object being deleted as Progressing before it
 * calls the script. Rules (docs/gitops.md, "Health"):
 *
 * JobRun, first match wins:
 *   1. no status                                   Progressing  "Waiting for the watcher"
 *   2. status.observedGeneration ~= generation     Progressing  "Waiting for the watcher to observe generation N"
 *   3. kstatus conditions: Reconciling=True        Progressing
 *                          Stalled=True            Degraded
 *                          Ready=True / other      Healthy / Progressing (only when Ready is present)
 *   4. phase: Succeeded                            Healthy
 *             Failed, Killed, AdmissionError,
 *             FinishedUnknown                      Degraded
 *             anything else (Queued included)      Progressing
 *
 * JobConfig: the same rules 2 and 3; otherwise (no status included) Healthy.
 */
import { API_GROUP } from '../schema/resources.js';

export type HealthKind = 'JobRun' | 'JobConfig';

/** `resource.customizations.health.taskplane.dev_JobRun` and `..._JobConfig`. */
export function argoCdHealthKey(kind: HealthKind): string {
  return `resource.customizations.health.${API_GROUP}_${kind}`;
}

/** Shared helpers: one place for "find a condition" and "a non-empty string or nil". */
const PRELUDE = `local hs = {}
local status = obj.status

-- A non-empty string, or nil.
local function text(value)
  if type(value) == "string" and value ~= "" then
    return value
  end
  return nil
end

-- "a: b" / "a; b" without dangling separators when either side is missing.
local function join(a, separator, b)
  if a == nil then
    return b
  end
  if b == nil then
    return a
  end
  return a .. separator .. b
end

-- The status condition of this type, or nil.
local function condition(conditionType)
  if type(status) ~= "table" or type(status.conditions) ~= "table" then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if type(c) == "table" and c.type == conditionType then
      return c
    end
  end
  return nil
end

local function isTrue(c)
  return c ~= nil and c.status == "True"
end

-- status.observedGeneration behind metadata.generation: the status speaks of an older spec.
local function staleGeneration()
  local generation = obj.metadata and obj.metadata.generation
  local observed = status.observedGeneration
  if type(generation) == "number" and type(observed) == "number" and observed ~= generation then
    return generation
  end
  return nil
end
`;

/** The Argo CD health check of a JobRun. */
export const JOB_RUN_HEALTH_LUA = `-- taskplane.dev/JobRun health for Argo CD (Lua 5.1, base and table libraries only).
-- The watcher writes Furiko's phase and kstatus conditions (Ready, Reconciling, Stalled);
-- the conditions decide where they exist, the phase otherwise.
${PRELUDE}
if type(status) ~= "table" or next(status) == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the watcher"
  return hs
end

local generation = staleGeneration()
if generation ~= nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the watcher to observe generation " .. generation
  return hs
end

local phase = text(status.phase)
local progress = text(status.progress)
local reconciling = condition("Reconciling")
local stalled = condition("Stalled")
local ready = condition("Ready")

local health
local deciding
if isTrue(reconciling) then
  health, deciding = "Progressing", reconciling
elseif isTrue(stalled) then
  health, deciding = "Degraded", stalled
elseif ready ~= nil then
  if isTrue(ready) then
    health = "Healthy"
  else
    health = "Progressing"
  end
  deciding = ready
elseif phase == "Succeeded" then
  health = "Healthy"
elseif phase == "Failed" or phase == "Killed" or phase == "AdmissionError" or phase == "FinishedUnknown" then
  health = "Degraded"
else
  health = "Progressing"
end

local message = text(status.message)
if message == nil and deciding ~= nil then
  message = text(deciding.message)
end
local detail
if health == "Degraded" then
  detail = message or text(status.reason) or (deciding and text(deciding.reason))
elseif health == "Healthy" then
  detail = message or (progress and (progress .. " succeeded"))
else
  detail = join(progress and (progress .. " succeeded"), "; ", message)
end
local summary = join(phase, ": ", detail) or health
if isTrue(condition("TemplateChanged")) then
  summary = summary .. "; spec.template changed after the run started"
end

hs.status = health
hs.message = summary
return hs
`;

/** The Argo CD health check of a JobConfig: Healthy unless its status says otherwise. */
export const JOB_CONFIG_HEALTH_LUA = `-- taskplane.dev/JobConfig health for Argo CD (Lua 5.1, base and table libraries only).
-- A definition is Healthy unless its status says otherwise (kstatus conditions), and with no
-- status at all.
${PRELUDE}
if type(status) ~= "table" or next(status) == nil then
  hs.status = "Healthy"
  hs.message = ""
  return hs
end

local generation = staleGeneration()
if generation ~= nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the watcher to observe generation " .. generation
  return hs
end

local reconciling = condition("Reconciling")
local stalled = condition("Stalled")
local ready = condition("Ready")
local deciding
if isTrue(reconciling) then
  hs.status, deciding = "Progressing", reconciling
elseif isTrue(stalled) then
  hs.status, deciding = "Degraded", stalled
elseif ready ~= nil and not isTrue(ready) then
  hs.status, deciding = "Progressing", ready
else
  hs.status = "Healthy"
end

local counts
if type(status.active) == "number" or type(status.queued) == "number" then
  counts = (status.active or 0) .. " active, " .. (status.queued or 0) .. " queued"
end
local detail = counts
if deciding ~= nil then
  detail = join(text(deciding.message) or text(deciding.reason), "; ", counts)
end
hs.message = join(text(status.state), ": ", detail) or ""
return hs
`;

/** argocd-cm `data`: the two health-check keys and their scripts. */
export function argoCdHealthChecks(): Record<string, string> {
  return {
    [argoCdHealthKey('JobConfig')]: JOB_CONFIG_HEALTH_LUA,
    [argoCdHealthKey('JobRun')]: JOB_RUN_HEALTH_LUA,
  };
}
