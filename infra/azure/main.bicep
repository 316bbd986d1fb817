// A Python function app on the Flex Consumption plan whose sessions live in its own
// storage account, with no secret anywhere: the app signs in with its system-assigned
// managed identity (AzureWebJobsStorage__accountName), and hostsessions finds the same
// account with zero configuration.
//
//   az group create --name shop-rg --location westeurope
//   az deployment group create --resource-group shop-rg --template-file main.bicep \
//       --parameters appName=shop-sessions-demo
//   cd ../../examples/azure_functions && func azure functionapp publish shop-sessions-demo

@description('Name of the function app (also its host name: <appName>.azurewebsites.net).')
param appName string

@description('Region for every resource.')
param location string = resourceGroup().location

@description('Storage account: the function app\'s host storage and the session table.')
@minLength(3)
@maxLength(24)
param storageAccountName string = take(toLower('st${replace(appName, '-', '')}${uniqueString(resourceGroup().id)}'), 24)

@description('Table that holds the sessions (letters and digits only).')
param sessionTableName string = 'hostsessions'

@description('Python version of the function app.')
@allowed(['3.10', '3.11', '3.12'])
param pythonVersion string = '3.11'

var deploymentContainerName = 'app-package'
// Built-in role definitions (their IDs are the same in every tenant).
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageAccountName
  location: location
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false // identities only: no account key to leak
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource sessionTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: sessionTableName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: '${appName}-plan'
  location: location
  kind: 'functionapp'
  sku: { name: 'FC1', tier: 'FlexConsumption' }
  properties: { reserved: true }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: appName
  location: location
  kind: 'functionapp,linux'
  identity: { type: 'SystemAssigned' }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: { type: 'SystemAssignedIdentity' }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: 40
        instanceMemoryMB: 2048
      }
      runtime: { name: 'python', version: pythonVersion }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      appSettings: [
        // Identity-based host storage; hostsessions reads the same settings.
        { name: 'AzureWebJobsStorage__accountName', value: storage.name }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'HOSTSESSIONS_AZURE_TABLE', value: sessionTable.name }
      ]
    }
  }
  dependsOn: [deploymentContainer]
}

// The Functions host keeps its leases and the deployment package in blobs.
resource hostStorageRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionApp.id, storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwner)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// Sessions: read and write entities of the session table only.
resource sessionTableRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(sessionTable.id, functionApp.id, storageTableDataContributor)
  scope: sessionTable
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributor)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

output functionAppUrl string = 'https://${functionApp.properties.defaultHostName}'
output sessionTableEndpoint string = storage.properties.primaryEndpoints.table
output sessionTableName string = sessionTable.name
