// seed 003's snippets, unchanged but for the import line and the service
// instance they reach (`circuitBreakerService`, or the container's getter).
import { circuitBreakerService, CircuitBreakerService, CircuitState } from 'tripwire';

declare const token: string;
declare const userMessage: { id: string };
declare const botMessage: { id: string };
declare const connection: { connectionId: string };
declare const connectionId: string;
declare const message: { type: string };
declare const user: { userId: string };
declare const now: Date;

const container = { getCircuitBreakerService: (): CircuitBreakerService => circuitBreakerService };

class AuthenticationService {
  private verifier = { verify: async (t: string) => ({ sub: t }) };
  private generateCorrelationId() {
    return 'id';
  }

  async verify() {
    // Use of the circuit breaker for JWT verification
    const payload = await circuitBreakerService.execute(
      'cognito',
      'verifyJWT',
      async () => {
        return await this.verifier.verify(token);
      },
      async () => {
        // Fallback behavior when Cognito is unavailable
        logger.warn('Cognito service unavailable, using fallback authentication', {
          correlationId: this.generateCorrelationId(),
        });
        throw new Error('Authentication service temporarily unavailable');
      },
      {
        failureThreshold: 3, // 3 failures before opening the circuit
        recoveryTimeout: 30000, // 30 seconds wait
        expectedResponseTime: 2000, // 2 seconds expected response time
        monitoringWindow: 60000, // 1 minute monitoring window
        minimumRequestCount: 5, // Minimum 5 requests before opening the circuit
      }
    );
    return payload.sub;
  }
}

class WebSocketMessageService {
  private generateCorrelationId() {
    return 'id';
  }

  async send() {
    // Use of the circuit breaker for sending WebSocket messages
    await circuitBreakerService.execute(
      'apigateway-management',
      'postToConnection',
      async () => {
        return await client.send(
          new PostToConnectionCommand({
            ConnectionId: connectionId,
            Data: Buffer.from(JSON.stringify(message)),
          })
        );
      },
      async () => {
        // Fallback behavior when API Gateway is unavailable
        logger.warn('API Gateway Management API unavailable, message not sent', {
          connectionId,
          messageType: message.type,
          correlationId: this.generateCorrelationId(),
        });
        throw new Error('WebSocket service temporarily unavailable');
      },
      {
        failureThreshold: 5, // 5 failures before opening the circuit
        recoveryTimeout: 15000, // 15 seconds wait
        expectedResponseTime: 1000, // 1 second expected response time
        monitoringWindow: 30000, // 30 second monitoring window
        minimumRequestCount: 3, // Minimum 3 requests before opening the circuit
      }
    );
  }
}

export async function chat() {
  // Circuit breaker for storing user message
  await circuitBreakerService.execute(
    'dynamodb',
    'storeUserMessage',
    async () => {
      return await ddbDocClient.send(
        new PutCommand({
          TableName: process.env.WEBSOCKET_MESSAGES_TABLE,
          Item: {
            ...userMessage,
            ttl: Math.floor(now.getTime() / 1000) + 24 * 60 * 60,
            type: 'user',
            connectionId,
            userId: user.userId,
          },
        })
      );
    },
    async () => {
      // Fallback behavior when DynamoDB is unavailable
      throw new Error('Database temporarily unavailable');
    },
    {
      failureThreshold: 3, // 3 failures before opening the circuit
      recoveryTimeout: 20000, // 20 seconds wait
      expectedResponseTime: 500, // 500ms expected response time
      monitoringWindow: 60000, // 1 minute monitoring window
      minimumRequestCount: 5, // Minimum 5 requests before opening the circuit
    }
  );

  // Circuit breaker for storing bot message
  await circuitBreakerService.execute(
    'dynamodb',
    'storeBotMessage',
    async () => {
      return await ddbDocClient.send(
        new PutCommand({
          TableName: process.env.WEBSOCKET_MESSAGES_TABLE,
          Item: {
            ...botMessage,
            ttl: Math.floor(now.getTime() / 1000) + 24 * 60 * 60,
            type: 'bot',
            connectionId,
            userId: user.userId,
          },
        })
      );
    },
    async () => {
      // Fallback behavior when DynamoDB is unavailable
      throw new Error('Database temporarily unavailable');
    },
    {
      failureThreshold: 3, // 3 failures before opening the circuit
      recoveryTimeout: 20000, // 20 seconds wait
      expectedResponseTime: 500, // 500ms expected response time
      monitoringWindow: 60000, // 1 minute monitoring window
      minimumRequestCount: 5, // Minimum 5 requests before opening the circuit
    }
  );
}

class ConnectionService {
  private tableName = 'connections';

  async store() {
    // Circuit breaker for storing connection
    await circuitBreakerService.execute(
      'dynamodb',
      'storeConnection',
      async () => {
        return await ddbDocClient.send(
          new PutCommand({
            TableName: this.tableName,
            Item: connection,
          })
        );
      },
      async () => {
        // Fallback behavior when DynamoDB is unavailable
        throw new Error('Database temporarily unavailable');
      },
      {
        failureThreshold: 3, // 3 failures before opening the circuit
        recoveryTimeout: 20000, // 20 seconds wait
        expectedResponseTime: 500, // 500ms expected response time
        monitoringWindow: 60000, // 1 minute monitoring window
        minimumRequestCount: 5, // Minimum 5 requests before opening the circuit
      }
    );
  }

  async remove() {
    // Circuit breaker for removing connection
    await circuitBreakerService.execute(
      'dynamodb',
      'removeConnection',
      async () => {
        return await ddbDocClient.send(
          new DeleteCommand({
            TableName: this.tableName,
            Key: { connectionId },
          })
        );
      },
      async () => {
        // Fallback behavior when DynamoDB is unavailable
        throw new Error('Database temporarily unavailable');
      },
      {
        failureThreshold: 3, // 3 failures before opening the circuit
        recoveryTimeout: 20000, // 20 seconds wait
        expectedResponseTime: 500, // 500ms expected response time
        monitoringWindow: 60000, // 1 minute monitoring window
        minimumRequestCount: 5, // Minimum 5 requests before opening the circuit
      }
    );
  }
}

export function monitoring() {
  // Example: Get circuit breaker stats for monitoring
  const circuitBreakerStats = container
    .getCircuitBreakerService()
    .getCircuitBreakerStats('cognito', 'verifyJWT');
  if (circuitBreakerStats) {
    logger.info('Circuit breaker status', {
      service: 'cognito',
      operation: 'verifyJWT',
      state: circuitBreakerStats.state,
      failureRate: circuitBreakerStats.failureRate,
      totalRequests: circuitBreakerStats.totalRequests,
    });
  }
}

// Available Statistics (the seed's interface, checked against ours).
interface CircuitBreakerStats {
  state: CircuitState; // CLOSED, OPEN, HALF_OPEN
  failureCount: number; // Total number of failures
  successCount: number; // Total number of successes
  totalRequests: number; // Total requests
  lastFailureTime: Date | null; // Last failure
  lastSuccessTime: Date | null; // Last success
  nextAttemptTime: Date | null; // Next attempt (if open)
  failureRate: number; // Failure rate (0-1)
}
const stats: CircuitBreakerStats | undefined = circuitBreakerService.getCircuitBreakerStats('dynamodb', 'storeConnection');
void [stats, AuthenticationService, WebSocketMessageService, ConnectionService];
