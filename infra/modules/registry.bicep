// The registry azd builds the image in (ACR Tasks, no local Docker) and the app pulls from with its identity:
// no admin user, no anonymous pull.

@description('Name of the registry (5-50 letters and digits).')
param name string

@description('Region of the registry.')
param location string

@description('Tags for the registry.')
param tags object

@description('Basic, Standard or Premium (more storage and throughput, geo-replication; artifact streaming would be a per-repository setting, not set here).')
@allowed([
  'Basic'
  'Standard'
  'Premium'
])
param sku string

@description('Principal id of the identity that pulls the image.')
param pullerPrincipalId string

var acrPull = '7f951dda-4ed3-4680-a7ca-43fe172d538d'

resource registry 'Microsoft.ContainerRegistry/registries@2025-11-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: sku
  }
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
  }
}

resource pull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, pullerPrincipalId, acrPull)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPull)
    principalId: pullerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output name string = registry.name
output loginServer string = registry.properties.loginServer
