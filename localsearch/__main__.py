from localsearch.launch import main

main()
