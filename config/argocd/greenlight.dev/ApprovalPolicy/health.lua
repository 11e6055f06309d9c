-- Argo CD health of a Greenlight ApprovalPolicy (greenlight.dev/ApprovalPolicy).
--
-- Stalled (the policy is invalid, and the posts it selects are Blocked) is Degraded. A freeze is
-- Suspended, with its reason: a person paused all publishing under the policy on purpose, as
-- Argo CD shows a suspended CronJob; nothing is broken, and unfreezing resumes it. A valid,
-- unfrozen policy is Healthy.
--
-- Only Lua's base and table libraries are used: Argo CD opens no more for a script from
-- argocd-cm unless resource.customizations.useOpenLibs is set.
local hs = {}

local function condition(conditionType)
  for _, c in ipairs(obj.status.conditions) do
    if c.type == conditionType then
      return c
    end
  end
  return nil
end

if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for Greenlight"
  return hs
end

local generation = obj.metadata.generation
if generation ~= nil and obj.status.observedGeneration ~= generation then
  hs.status = "Progressing"
  hs.message = "Waiting for Greenlight to observe generation " .. tostring(generation) .. " of the policy"
  return hs
end

local stalled = condition("Stalled")
local frozen = condition("Frozen")
local ready = condition("Ready")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = stalled.message
elseif frozen ~= nil and frozen.status == "True" then
  hs.status = "Suspended"
  hs.message = frozen.message
elseif ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message
  local failing = condition("NotificationsFailing")
  if failing ~= nil and failing.status == "True" then
    hs.message = hs.message .. " Notifications failing: " .. failing.message
  end
elseif ready ~= nil then
  hs.status = "Progressing"
  hs.message = ready.message
else
  hs.status = "Progressing"
  hs.message = "Waiting for Greenlight"
end
return hs
