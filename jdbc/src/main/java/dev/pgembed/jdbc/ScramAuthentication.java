package dev.pgembed.jdbc;

import com.ongres.scram.common.ScramFunctions;
import com.ongres.scram.common.ScramMechanism;
import com.ongres.scram.common.StringPreparation;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * The server side of SCRAM-SHA-256 as PostgreSQL speaks it (RFC 5802 and 7677 inside AuthenticationSASL
 * messages, no channel binding: serve mode has no TLS). The cryptography (PBKDF2, HMAC, SASLprep, nonces)
 * is OnGres' scram-common; the server keeps only the salted verifier of the password, never the password.
 */
final class ScramAuthentication implements Authentication {
    private static final ScramMechanism MECHANISM = ScramMechanism.SCRAM_SHA_256;
    private static final SecureRandom RANDOM = new SecureRandom();
    /* PostgreSQL's default scram_iterations */
    private static final int ITERATIONS = 4096;
    private static final int AUTH_SASL = 10;
    private static final int AUTH_SASL_CONTINUE = 11;
    private static final int AUTH_SASL_FINAL = 12;

    /** What a server stores of a password (as in pg_authid.rolpassword's SCRAM-SHA-256 form). */
    record Secret(byte[] salt, int iterations, byte[] storedKey, byte[] serverKey) {
        static Secret of(String password) {
            byte[] salt = ScramFunctions.salt(16, RANDOM);
            // SASLprep when the password allows it, the raw bytes otherwise: what PostgreSQL does
            byte[] salted = ScramFunctions.saltedPassword(
                    MECHANISM, StringPreparation.POSTGRESQL_PREPARATION, password.toCharArray(), salt, ITERATIONS);
            byte[] stored = ScramFunctions.storedKey(MECHANISM, ScramFunctions.clientKey(MECHANISM, salted));
            return new Secret(salt, ITERATIONS, stored, ScramFunctions.serverKey(MECHANISM, salted));
        }
    }

    private final Secret secret;
    private String user;
    private String gs2Header;
    private String clientFirstBare;
    private String serverFirst;
    private String nonce;
    private boolean done;

    /** @param secret the password's verifier */
    ScramAuthentication(Secret secret) {
        this.secret = secret;
    }

    @Override
    public void start(String user, Wire.Buf out) {
        this.user = user;
        int at = out.begin('R');
        out.int32(AUTH_SASL);
        out.cstr(MECHANISM.getName());
        out.put(0);
        out.end(at);
    }

    @Override
    public boolean respond(byte[] b, int off, int len, Wire.Buf out) throws Failure {
        if (done) {
            throw protocol("unexpected password message after authentication");
        }
        return serverFirst == null ? initialResponse(b, off, len, out) : finalResponse(b, off, len, out);
    }

    /* SASLInitialResponse: mechanism, length, client-first-message */
    private boolean initialResponse(byte[] b, int off, int len, Wire.Buf out) throws Failure {
        int end = off + len;
        int mechEnd = Wire.cstrEnd(b, off, end);
        if (mechEnd + 5 > end) {
            throw protocol("malformed SASLInitialResponse");
        }
        String mechanism = new String(b, off, mechEnd - off, StandardCharsets.UTF_8);
        if (!mechanism.equals(MECHANISM.getName())) {
            throw protocol("client selected an invalid SASL authentication mechanism");
        }
        int n = Wire.int32(b, mechEnd + 1);
        if (n < 0 || mechEnd + 5 + n != end) {
            throw protocol("malformed SASLInitialResponse");
        }
        String first = new String(b, mechEnd + 5, n, StandardCharsets.UTF_8);
        // gs2-header = cbind-flag "," [authzid] "," ; client-first-message-bare = "n=" user ",r=" nonce [ext]
        // (libpq sends an empty user name: the start-up packet's counts)
        if (first.startsWith("p")) {
            throw protocol("channel binding is not supported without SSL");
        }
        int comma = first.indexOf(',', 2);
        if (!(first.startsWith("n,") || first.startsWith("y,")) || comma < 0) {
            throw protocol("malformed SCRAM client-first-message");
        }
        gs2Header = first.substring(0, comma + 1);
        clientFirstBare = first.substring(comma + 1);
        String[] attrs = clientFirstBare.split(",", -1);
        if (attrs.length < 2 || !attrs[0].startsWith("n=") || !attrs[1].startsWith("r=") || attrs[1].length() < 3) {
            throw protocol("malformed SCRAM client-first-message");
        }
        String clientNonce = attrs[1].substring(2);
        for (int i = 0; i < clientNonce.length(); i++) {
            char c = clientNonce.charAt(i);
            if (c < 0x21 || c > 0x7e) {
                throw protocol("malformed SCRAM client nonce");
            }
        }
        nonce = clientNonce + ScramFunctions.nonce(24, RANDOM);
        serverFirst =
                "r=" + nonce + ",s=" + Base64.getEncoder().encodeToString(secret.salt()) + ",i=" + secret.iterations();
        int at = out.begin('R');
        out.int32(AUTH_SASL_CONTINUE);
        byte[] sf = serverFirst.getBytes(StandardCharsets.UTF_8);
        out.put(sf, 0, sf.length);
        out.end(at);
        return false;
    }

    /* SASLResponse: client-final-message = channel binding, nonce, [extensions,] proof */
    private boolean finalResponse(byte[] b, int off, int len, Wire.Buf out) throws Failure {
        String fin = new String(b, off, len, StandardCharsets.UTF_8);
        int p = fin.lastIndexOf(",p=");
        if (!fin.startsWith("c=") || p < 0) {
            throw protocol("malformed SCRAM client-final-message");
        }
        String withoutProof = fin.substring(0, p);
        String[] attrs = withoutProof.split(",", -1);
        if (attrs.length < 2 || !attrs[1].startsWith("r=")) {
            throw protocol("malformed SCRAM client-final-message");
        }
        String binding = Base64.getEncoder().encodeToString(gs2Header.getBytes(StandardCharsets.UTF_8));
        if (!attrs[0].substring(2).equals(binding)) {
            throw protocol("SCRAM channel binding check failed");
        }
        if (!attrs[1].substring(2).equals(nonce)) {
            throw protocol("SCRAM nonce mismatch");
        }
        byte[] proof;
        try {
            proof = Base64.getDecoder().decode(fin.substring(p + 3));
        } catch (IllegalArgumentException e) {
            throw protocol("malformed SCRAM client proof");
        }
        String authMessage = clientFirstBare + "," + serverFirst + "," + withoutProof;
        done = true;
        if (proof.length != secret.storedKey().length
                || !ScramFunctions.verifyClientProof(MECHANISM, proof, secret.storedKey(), authMessage)) {
            throw new Failure("28P01", "password authentication failed for user \"" + user + "\"");
        }
        byte[] signature = ScramFunctions.serverSignature(MECHANISM, secret.serverKey(), authMessage);
        int at = out.begin('R');
        out.int32(AUTH_SASL_FINAL);
        byte[] v = ("v=" + Base64.getEncoder().encodeToString(signature)).getBytes(StandardCharsets.UTF_8);
        out.put(v, 0, v.length);
        out.end(at);
        return true;
    }

    private static Failure protocol(String message) {
        return new Failure("08P01", message);
    }
}
