module example.com/usertest

go 1.25.0
