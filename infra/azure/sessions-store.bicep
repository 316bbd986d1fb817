// Session storage for an app that has no AzureWebJobsStorage (App Service, Container
// Apps, a VM): a storage account, the session table, and the Storage Table Data
// Contributor role on that table for the app's managed identity. Then set on the app:
//   HOSTSESSIONS_AZURE_ENDPOINT = <output tableEndpoint>
//   HOSTSESSIONS_AZURE_TABLE    = <output tableName>
// and install 'hostsessions-azure[identity]'.
//
//   az deployment group create --resource-group shop-rg --template-file sessions-store.bicep \
//       --parameters principalId=$(az webapp identity show -g shop-rg -n shop --query principalId -o tsv)

@description('Object (principal) ID of the managed identity the app runs as.')
param principalId string

@description('Region for the storage account.')
param location string = resourceGroup().location

@description('Storage account that holds the session table.')
@minLength(3)
@maxLength(24)
param storageAccountName string = take(toLower('stsessions${uniqueString(resourceGroup().id)}'), 24)

@description('Table that holds the sessions (letters and digits only).')
param sessionTableName string = 'hostsessions'

var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageAccountName
  location: location
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource sessionTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: sessionTableName
}

resource sessionTableRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(sessionTable.id, principalId, storageTableDataContributor)
  scope: sessionTable
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output tableEndpoint string = storage.properties.primaryEndpoints.table
output tableName string = sessionTable.name
