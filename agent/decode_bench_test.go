package agent

import "testing"

// A real ssh/verify answer from Vault v1.14.0.
const verifyAnswer = `{"request_id":"0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9","lease_id":"","renewable":false,"lease_duration":0,` +
	`"data":{"ip":"127.0.0.1","key_type":"otp","role_name":"otp_key_role","username":"ubuntu"},"wrap_info":null,"warnings":null,"auth":null}`

// BenchmarkDecodeVerifyAnswer is what reading one ssh/verify answer costs
// a login: its data, and its request_id.
func BenchmarkDecodeVerifyAnswer(b *testing.B) {
	var d struct {
		Username *string `json:"username"`
		IP       *string `json:"ip"`
		RoleName *string `json:"role_name"`
		Message  *string `json:"message"`
	}
	for b.Loop() {
		if err := DecodeData([]byte(verifyAnswer), &d); err != nil {
			b.Fatal(err)
		}
		if _, ok := requestIDOf([]byte(verifyAnswer)); !ok {
			b.Fatal("no request_id")
		}
	}
}

// BenchmarkDecodeAuth is what reading one AppRole login answer costs.
func BenchmarkDecodeAuth(b *testing.B) {
	for b.Loop() {
		if _, err := DecodeAuth([]byte(loginAnswer)); err != nil {
			b.Fatal(err)
		}
	}
}
