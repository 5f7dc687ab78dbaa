-- Every kind of every *.crossplane.io group: Synced and Ready conditions, as managed resources report.
local synced, ready
if obj.status ~= nil and obj.status.conditions ~= nil then
  for _, condition in ipairs(obj.status.conditions) do
    if condition.type == "Synced" then synced = condition end
    if condition.type == "Ready" then ready = condition end
  end
end
if synced ~= nil and synced.status == "False" then
  return {status = "Degraded", message = synced.message or synced.reason}
end
if ready ~= nil and ready.status == "True" then
  return {status = "Healthy", message = "Resource is available"}
end
return {status = "Progressing", message = "Waiting for the resource to become ready"}
