/*
 * test_wire_util.c
 *	  What the tests that speak the frontend/backend protocol to an engine
 *	  share: messages put into a buffer in wire framing, as a client (pgjdbc)
 *	  sends them.
 */
#include "test_util.h"

#include <arpa/inet.h>
#include <stdint.h>

/* one message: its type, its length (payload + 4) and the payload */
size_t
put_message(char *buf, char type, const char *payload, size_t len)
{
	uint32_t	n = htonl((uint32_t) len + 4);

	buf[0] = type;
	memcpy(buf + 1, &n, 4);
	if (len > 0)
		memcpy(buf + 5, payload, len);
	return len + 5;
}

/* a Bind of the unnamed portal to stmt with nparams text values (NULL: SQL NULL) */
size_t
put_bind(char *buf, const char *stmt, int nparams, const char *const *v)
{
	char		p[1024];
	size_t		n = 0;
	uint16_t	count = htons((uint16_t) nparams);

	p[n++] = '\0';
	memcpy(p + n, stmt, strlen(stmt) + 1);
	n += strlen(stmt) + 1;
	memset(p + n, 0, 2);		/* no format codes: text */
	n += 2;
	memcpy(p + n, &count, 2);
	n += 2;
	for (int i = 0; i < nparams; i++)
	{
		uint32_t	len = htonl(v[i] ? (uint32_t) strlen(v[i]) : (uint32_t) -1);

		memcpy(p + n, &len, 4);
		n += 4;
		if (v[i])
		{
			memcpy(p + n, v[i], strlen(v[i]));
			n += strlen(v[i]);
		}
	}
	memset(p + n, 0, 2);		/* no result format codes */
	n += 2;
	return put_message(buf, 'B', p, n);
}
