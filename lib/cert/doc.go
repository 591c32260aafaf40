// Package cert parses X.509 v3 certificates and checks a certificate chain
// to a set of roots, the subset of crypto/x509 that pvs@2 signatures need,
// without reflection (encoding/asn1) and at a fraction of crypto/x509's size.
//
// What is read: the raw TBSCertificate, issuer and subject (raw DER, and the
// subject's common name), validity, the signature algorithm and value, the
// subject public key (RSA, or ECDSA on P-256/384/521) and the extensions
// basicConstraints and keyUsage. Verify builds a chain from a leaf through
// a pool of intermediates to a root as crypto/x509's Verify does with
// KeyUsages ExtKeyUsageAny, and agrees with it on every chain the
// differential fuzz test generates, except where this package refuses
// more (each case is listed in Verify's comment; never the other way).
package cert
