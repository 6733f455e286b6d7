package emulator

import (
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
)

// armError is a Resource Manager error: the status and the CloudError body
// {"error":{"code":...,"message":...}} the SDK turns into an
// *azcore.ResponseError with ErrorCode set.
type armError struct {
	status  int
	code    string
	message string
	details []*armcompute.APIErrorBase
}

func (e *armError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.code, e.message) }

// cloudError is the body of every error Resource Manager answers.
type cloudError struct {
	Error *armcompute.APIError `json:"error"`
}

func (e *armError) body() cloudError {
	return cloudError{Error: &armcompute.APIError{Code: to.Ptr(e.code), Message: to.Ptr(e.message), Details: e.details}}
}

func errorf(status int, code, format string, args ...any) *armError {
	return &armError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func notFound(kind, name, group string) *armError {
	return errorf(http.StatusNotFound, "ResourceNotFound",
		"The Resource 'Microsoft.Compute/%s/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", kind, name, group)
}

func badParameter(format string, args ...any) *armError {
	return errorf(http.StatusBadRequest, "InvalidParameter", format, args...)
}
