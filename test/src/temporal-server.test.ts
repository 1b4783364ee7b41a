import { Connection } from '@temporalio/client';

// The global setup (test/src/setup/global-setup.ts) started one dev server for this run.
test('the dev server of the test run answers at TEMPORAL_ADDRESS and serves TEMPORAL_NAMESPACE', async () => {
  const address = process.env.TEMPORAL_ADDRESS;
  const namespace = process.env.TEMPORAL_NAMESPACE;
  expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
  expect(namespace).toBe('default');

  const connection = await Connection.connect({ address });
  try {
    const described = await connection.workflowService.describeNamespace({ namespace });
    expect(described.namespaceInfo?.name).toBe(namespace);
  } finally {
    await connection.close();
  }
});
