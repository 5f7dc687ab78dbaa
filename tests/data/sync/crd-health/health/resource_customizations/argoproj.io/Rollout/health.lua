-- A Rollout-like resource: paused is Suspended, aborted is Degraded, every replica updated and
-- available for the observed generation is Healthy, anything else Progressing.
local hs = {status = "Progressing", message = "Waiting for the rollout"}
local status = obj.status
if status == nil then
  return hs
end
if status.observedGeneration ~= nil and obj.metadata.generation ~= nil
    and tonumber(status.observedGeneration) < obj.metadata.generation then
  hs.message = "Waiting for the rollout spec to be observed"
  return hs
end
if status.abort then
  return {status = "Degraded", message = status.message or "Rollout aborted"}
end
if obj.spec.paused or status.phase == "Paused" then
  return {status = "Suspended", message = "Rollout is paused"}
end
local wanted = obj.spec.replicas or 1
if (status.updatedReplicas or 0) == wanted and (status.availableReplicas or 0) == wanted then
  return {status = "Healthy", message = "Rollout is complete"}
end
hs.message = string.format("%d of %d replicas updated", status.updatedReplicas or 0, wanted)
return hs
