-- A cert-manager-like Certificate: Ready=True is Healthy; Ready=False is Degraded unless the
-- certificate is still being issued (an Issuing condition), which is Progressing.
local issuing = false
local ready = nil
if obj.status ~= nil and obj.status.conditions ~= nil then
  for _, condition in ipairs(obj.status.conditions) do
    if condition.type == "Issuing" and condition.status == "True" then
      issuing = true
    elseif condition.type == "Ready" then
      ready = condition
    end
  end
end
if ready ~= nil and ready.status == "True" then
  return {status = "Healthy", message = ready.message or ""}
end
if issuing or ready == nil then
  return {status = "Progressing", message = "Issuing certificate"}
end
return {status = "Degraded", message = string.format("%s: %s", ready.reason or "NotReady", ready.message or "")}
