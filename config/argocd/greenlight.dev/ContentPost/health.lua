-- Argo CD health of a Greenlight ContentPost (greenlight.dev/ContentPost).
--
-- Draft, InReview and ChangesRequested wait on people: Suspended, as Argo CD shows a paused
-- Rollout. Scheduled and Published are Healthy, except a Scheduled post that, as things stand,
-- will never publish (Stalled, reason NoPublishingWindow). Publishing is Progressing. Rejected,
-- Expired, Failed and Blocked are Degraded: a person must act. The message is the post's Ready message,
-- which says what it waits on or what to do.
--
-- Only Lua's base and table libraries are used: Argo CD opens no more for a script from
-- argocd-cm unless resource.customizations.useOpenLibs is set.
local hs = {}

local function condition(conditionType)
  if obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == conditionType then
      return c
    end
  end
  return nil
end

-- readyMessage is the Ready condition's message, or fallback when there is none.
local function readyMessage(fallback)
  local ready = condition("Ready")
  if ready ~= nil and ready.message ~= nil and ready.message ~= "" then
    return ready.message
  end
  return fallback
end

if obj.status == nil or obj.status.phase == nil or obj.status.phase == "" then
  hs.status = "Progressing"
  hs.message = "Waiting for Greenlight"
  return hs
end

local generation = obj.metadata.generation
if generation ~= nil and obj.status.observedGeneration ~= generation then
  hs.status = "Progressing"
  hs.message = "Waiting for Greenlight to observe generation " .. tostring(generation) .. " of the post"
  return hs
end

local phase = obj.status.phase
if phase == "Draft" or phase == "ChangesRequested" then
  hs.status = "Suspended"
  hs.message = readyMessage(phase)
elseif phase == "InReview" then
  hs.status = "Suspended"
  local waitingOn = obj.status.waitingOn
  if waitingOn == nil then
    waitingOn = "its reviewers"
  end
  hs.message = readyMessage("Waiting on " .. waitingOn .. ".")
  if obj.status.deadline ~= nil then
    hs.message = hs.message .. " Next deadline: " .. obj.status.deadline .. "."
  end
elseif phase == "Scheduled" and condition("Stalled") ~= nil and condition("Stalled").status == "True" then
  -- Approved, but as things stand it never publishes (no window opens in time).
  hs.status = "Degraded"
  hs.message = readyMessage(phase)
elseif phase == "Scheduled" or phase == "Published" then
  hs.status = "Healthy"
  hs.message = readyMessage(phase)
  local drifted = condition("Drifted")
  if drifted ~= nil and drifted.status == "True" then
    hs.message = hs.message .. " " .. drifted.message
  end
elseif phase == "Publishing" then
  hs.status = "Progressing"
  hs.message = readyMessage("Publishing")
elseif phase == "Rejected" or phase == "Expired" or phase == "Failed" or phase == "Blocked" then
  hs.status = "Degraded"
  hs.message = readyMessage(phase)
else
  hs.status = "Unknown"
  hs.message = "Unknown phase " .. phase .. ": this health check is older than the Greenlight that wrote it"
end
return hs
