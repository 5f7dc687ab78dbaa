-- A gate the tests open: Healthy once status.open is true, and at once outside namespace "held".
if obj.metadata.namespace ~= "held" then
  return {status = "Healthy", message = "not held"}
end
if obj.status ~= nil and obj.status.open == true then
  return {status = "Healthy", message = "opened"}
end
return {status = "Progressing", message = "held until the test opens it"}
