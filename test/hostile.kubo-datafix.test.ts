// KuboStore's name commands against a lying Kubo RPC (a loopback server; a real daemon cannot be made
// to answer so): an answer that is not Kubo's is a StoreError, as every other bad answer is, not a
// complaint about the caller's arguments.
import { describe, it } from 'node:test'
import { KuboStore } from '../src/index.js'
import { assertTypedError, withinBudget } from './helpers/hostile.js'
import { QUICK_KUBO, rpcAnswering } from './helpers/loopback.js'

const quick = QUICK_KUBO

describe('key/gen and name/publish answers that are not Kubo’s', () => {
  for (const body of ['null', '{}', '{"Id":"not a name"}', '{"Id":7}', '{"Name":"x","Id":"/ipfs/bafy"}']) {
    it(`key/gen ${body}: a StoreError`, async () => {
      const url = await rpcAnswering(body)
      const store = new KuboStore({ rpcUrl: url, gateways: url, ...quick })
      assertTypedError(await withinBudget('key/gen', () => store.createKey('k')), 'ERR_STORE')
    })
  }
  it('name/publish naming something that is not an IPNS name: a StoreError', async () => {
    const root = 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'
    const url = await rpcAnswering(JSON.stringify({ Name: 'not a name', Value: `/ipfs/${root}` }))
    const store = new KuboStore({ rpcUrl: url, gateways: url, ...quick })
    assertTypedError(await withinBudget('name/publish', () => store.publishName(root)), 'ERR_STORE')
  })
})
